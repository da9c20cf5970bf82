"""link layer (see DESIGN.md §3)."""
