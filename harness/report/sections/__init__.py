"""Each report section's markdown, from analysis/ results. A section that links files
(figures, the audit's CSV) returns a `Section` describing them as data (parts.py); render/
writes them. Nothing here draws or imports render/."""
