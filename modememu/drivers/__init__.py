"""drivers layer (see DESIGN.md §3)."""
