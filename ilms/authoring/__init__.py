"""Authoring: modules as plain-text packages (read, validate, write) and their lessons and banks."""
