"""Storage: the schema, the engine and the rows, in the caller's transaction; imports no
services, delivery, scheduling or platforms."""
