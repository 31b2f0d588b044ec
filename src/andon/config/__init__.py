"""andon.yaml: schema, loading with file:line errors, ${ENV} interpolation."""
