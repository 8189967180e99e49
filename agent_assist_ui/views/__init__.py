"""The consoles' pages, one module each; every page is a ``render()`` function."""
