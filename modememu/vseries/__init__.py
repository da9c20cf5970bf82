"""vseries layer (see DESIGN.md §3)."""
