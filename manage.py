#!/usr/bin/env python
from recurent.cli import main

if __name__ == "__main__":
    main()
