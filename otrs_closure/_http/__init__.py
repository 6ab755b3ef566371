"""The transport: how each GenericInterface request is shaped (:mod:`.shaping`), sent on
a pooled ``requests.Session`` (:mod:`.wire`), answered (:mod:`.answers`), retried
(:mod:`.retry`) and authenticated with one shared session (:mod:`.gi`)."""
