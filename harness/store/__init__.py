"""A run folder on disk: the typed records, sample rows and manifest, and the append-only
store that writes them (fsync'ed, resumable) and reads them back for report and gate.

  records.py   Record (one line of records.jsonl) and RunStore
  runfiles.py  SampleRow (samples.jsonl), Manifest and Fingerprint (manifest.json), schemas
"""
