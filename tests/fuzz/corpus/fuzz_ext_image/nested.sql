$lib$libdir/dir/ default_version = 'unterminated
