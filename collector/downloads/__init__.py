"""Package download counts: PyPI (through pypistats.org) and npm (api.npmjs.org), one module per source."""
