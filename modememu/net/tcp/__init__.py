"""TCP: wire format, initial sequence numbers, and the connection machinery."""
