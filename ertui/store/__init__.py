"""The store: the engine and its migrations, the tables, and the vault for secrets at rest."""
