#!/bin/sh
# Look at the demo workbook as a marketer will: `syncbot demo`, then LibreOffice (headless)
# renders it to PDF and pdftoppm turns each page into a PNG. Not part of the tests.
#
#   scripts/render_workbook.sh [MEMBERS] [FOLDER] [LANGUAGE] [PAGES]
#   (defaults: 3000 render en 1; page 1 is the Dashboard, the Leads tab follows)
#
# Needs syncbot installed (.venv/bin on PATH), LibreOffice Calc and poppler-utils
# (Debian: apt-get install libreoffice-calc poppler-utils). docs/dashboard.png is page 1,
# cropped to the charts:  pdftoppm -r 160 -png -f 1 -l 1 -x 80 -y 120 -W 520 -H 1000 ...
set -eu
members=${1:-3000}
folder=${2:-render}
language=${3:-en}
pages=${4:-1}
mkdir -p "$folder"
syncbot demo --members "$members" --language "$language" --output "$folder/demo.xlsx" --quiet
soffice --headless --convert-to pdf --outdir "$folder" "$folder/demo.xlsx" >/dev/null
pdftoppm -r 70 -png -f 1 -l "$pages" "$folder/demo.pdf" "$folder/page"
ls "$folder"/page-*.png | head -1
