"""tui layer (see DESIGN.md §3)."""
