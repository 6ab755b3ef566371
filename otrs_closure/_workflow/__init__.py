"""The closure workflow, in the manual's order: prepare (every local check) → read →
assess (what the ticket already shows; pure) → decide the next write (pure) → write →
verify → receipt. ``plan()`` runs the same decisions without writing."""
