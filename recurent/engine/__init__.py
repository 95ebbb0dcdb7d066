"""The billing core: pure Python, no Django (an import-linter-style test guards this)."""
