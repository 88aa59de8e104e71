"""Pure domain logic: no Falcon, no Pony, no I/O."""
