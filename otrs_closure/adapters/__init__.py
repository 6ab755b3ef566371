"""Adapters: adopt what a script already has (an existing pyotrs client)."""
