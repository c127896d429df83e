"""Document types and their rendering: data -> PDF/A. Knows nothing of keys or databases."""
