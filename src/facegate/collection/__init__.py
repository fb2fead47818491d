"""One recognition service's face collection: subjects and examples, the change log, the
in-memory search index, re-embedding with another model and the lock it takes."""
