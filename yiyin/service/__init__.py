"""The only place that ties templates, signing and registry together: pipeline, verification, CLI."""
