#!/usr/bin/env python
if __name__ == "__main__":
    from tongxin.cli import main

    main()
