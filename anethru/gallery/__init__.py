"""The results gallery: reading result files, the tables, the Markdown page and its figure, and the seed's figures."""
