"""pyserial URL handlers (`modememu://`); `import modememu` puts this package on pyserial's list."""
