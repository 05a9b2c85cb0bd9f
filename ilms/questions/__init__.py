"""Question types: how each kind of bank item is validated, answered, graded, explained and shown."""
