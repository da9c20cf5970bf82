"""modem layer (see DESIGN.md §3)."""
