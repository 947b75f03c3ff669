"""Evidence photos: checked as images (images.py, no I/O), kept unchanged in an object store behind one interface
(store.py: a directory or S3/MinIO, chosen by settings.py), thumbnails beside them (upload.py), and referred to from
the services' evidence lists as ``photo:<sha256>.<ext>`` (evidence.py)."""
