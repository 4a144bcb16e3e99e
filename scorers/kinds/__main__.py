"""``python -m scorers.kinds``: print the registry as the Markdown table of docs/scorers.md."""

from . import markdown_table

print(markdown_table(), end="")
