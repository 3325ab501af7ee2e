"""HTTP fixtures (a recording server on loopback). Filled by the non-AWS plugins' work."""
