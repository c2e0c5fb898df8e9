// placeholder: filled in by its module's first commit
