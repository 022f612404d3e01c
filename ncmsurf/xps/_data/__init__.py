"""Data files of the XPS presets (component models, RSF sets)."""
