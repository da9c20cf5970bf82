"""capture layer (see DESIGN.md §3)."""
