"""``python -m aigc_studio.gui``: open the studio window."""

from aigc_studio.gui.app import main

if __name__ == "__main__":
    main()
