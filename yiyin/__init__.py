"""yiyin (一印): templates -> sealed PDF/A -> public registry, for one approval bureau."""

__version__ = "0.1.0"
