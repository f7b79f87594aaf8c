"""Accounts and access: console users, API tokens, viewer identities, permissions."""
