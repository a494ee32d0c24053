"""The report as files: the markdown document assembled from sections/, the figures they
describe drawn with matplotlib, the self-contained HTML page (markdown-it-py), and the
`limitbench report` command (command.py)."""
