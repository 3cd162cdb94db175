"""The pathlib methods that read and write through ``open``, as generated code: both setup
cells' ``StorkPath`` classes (S3 by URL, PostgreSQL by files-table key) take them and
define only their own ``open``."""

PATH_IO_METHODS = '''
    def read_bytes(self):
        with self.open("rb") as f:
            return f.read()

    def read_text(self, encoding=None, errors=None):
        with self.open("r", encoding=encoding, errors=errors) as f:
            return f.read()

    def write_bytes(self, data):
        with self.open("wb") as f:
            return f.write(data)

    def write_text(self, data, encoding=None, errors=None, newline=None):
        with self.open("w", encoding=encoding, errors=errors, newline=newline) as f:
            return f.write(data)
'''
