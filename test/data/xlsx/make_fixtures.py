#!/usr/bin/python3
"""Writes the Excel fixtures of the ingest tests with openpyxl (Debian's
python3-openpyxl): workbooks made by a writer other than ours.

The generated files are checked in next to this script, so the tests never
depend on regenerating them; run it again only to change them:

    /usr/bin/python3 test/data/xlsx/make_fixtures.py

invoices_1900.xlsx  1900 date system. Sheet 1 "Notes" (not invoices), sheet 2
                    "Sales": a two-row header with merged cells (Invoice and
                    the other columns merged down, "Customer" merged across
                    over "ID" and "Name"), dates with a custom format
                    (dd/mm/yyyy hh:mm), an empty row, empty cells (an
                    anonymous line), an invoice number merged over two lines,
                    a quantity that is text (rejected at its sheet row);
                    its strings rewritten as shared strings, as Excel
                    writes them (one rich-text entry in two runs).
invoices_1904.xlsx  1904 date system, one flat header, dates with built-in
                    format 14, strings as openpyxl writes them: inline
                    strings (<is><t>).
"""
import datetime as dt
import os
import re
import zipfile
from xml.sax.saxutils import escape

import openpyxl
from openpyxl.styles import Alignment
from openpyxl.utils.datetime import CALENDAR_MAC_1904

HERE = os.path.dirname(os.path.abspath(__file__))


def fixed_zip_times(path):
    """Rewrites the zip with a fixed timestamp so the bytes do not change
    from run to run (openpyxl stamps the current time)."""
    with zipfile.ZipFile(path) as z:
        parts = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts:
            data = re.sub(rb"<dcterms:(created|modified)([^>]*)>[^<]*<",
                          rb"<dcterms:\1\2>2024-01-01T00:00:00Z<", data)
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)


def shared_strings(path, sheet_part):
    """Turns the inline strings that openpyxl writes into shared strings for
    one sheet (as Excel itself writes them), with "Description" as rich text
    in two runs and a phonetic run that must not be read."""
    with zipfile.ZipFile(path) as z:
        parts = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    strings = []

    def to_shared(m):
        text = m.group(3)
        if text not in strings:
            strings.append(text)
        return '<c r="%s"%s t="s"><v>%d</v></c>' % (m.group(1), m.group(2), strings.index(text))

    out = []
    for name, data in parts:
        data = data.decode()
        if name == sheet_part:
            data = re.sub(r'<c r="([A-Z]+[0-9]+)"((?: s="[0-9]+")?) t="inlineStr"><is><t>(.*?)</t></is></c>',
                          to_shared, data, flags=re.S)
            assert 'inlineStr' not in data
        elif name == "[Content_Types].xml":
            data = data.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType='
                                '"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
        elif name == "xl/_rels/workbook.xml.rels":
            data = data.replace("</Relationships>", '<Relationship Id="rIdStrings" Type="http://schemas.openxmlformats.org/'
                                'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
        out.append((name, data.encode()))
    items = []
    for text in strings:
        if text == "Description":
            items.append('<si><r><t>Descr</t></r><r><rPr><b/></rPr><t>iption</t></r>'
                         '<rPh sb="0" eb="1"><t>X</t></rPh></si>')
        else:
            items.append('<si><t xml:space="preserve">%s</t></si>' % text)
    sst = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">%s</sst>'
           % (len(strings), len(strings), "".join(items)))
    out.append(("xl/sharedStrings.xml", sst.encode()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in out:
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)


def workbook_1900():
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes["A1"] = "Exported from the shop's back office"
    notes["A2"] = 42
    s = wb.create_sheet("Sales")
    # two-row header with merged cells
    s["A1"] = "Invoice"
    s.merge_cells("A1:A2")
    s["B1"] = "Customer"
    s.merge_cells("B1:C1")
    s["B2"] = "ID"
    s["C2"] = "Name"
    for col, title in zip("DEFGH", ["StockCode", "Description", "Quantity", "Unit Price", "Invoice Date"]):
        s[col + "1"] = title
        s.merge_cells("%s1:%s2" % (col, col))
        s[col + "1"].alignment = Alignment(vertical="center")
    rows = [
        # row 3..
        ("INV-1", "C100", "Acme Ltd", "SKU-A", "Red mug", 6, 2.5, dt.datetime(2024, 3, 1, 9, 30)),
        ("INV-1", "C100", "Acme Ltd", "SKU-B", "Blue plate", 2, 10.25, dt.datetime(2024, 3, 1, 9, 30)),
        ("INV-2", "C200", "Bistro, \"Chez Max\"", "SKU-A", "Red mug", 12, 2.5, dt.datetime(2024, 3, 2, 14, 0)),
        (None, "C200", "Bistro, \"Chez Max\"", "SKU-C", "Teapot\nlarge", 1, 24.0, dt.datetime(2024, 3, 2, 14, 0)),
        None,  # row 7: empty
        ("INV-3", None, None, "SKU-B", "Blue plate", 3, 10.25, dt.datetime(2024, 2, 29, 18, 45)),
        ("INV-4", "C100", "Acme Ltd", "SKU-C", "Teapot large", "lots", 24.0, dt.datetime(2024, 3, 5, 8, 0)),
        ("INV-5", "C300", "Corner Shop", "SKU-A", "Red mug", 4, 2.75, dt.datetime(2024, 12, 31, 23, 59)),
    ]
    r = 3
    for row in rows:
        if row is not None:
            for col, value in zip("ABCDEFGH", row):
                if value is not None:
                    s["%s%d" % (col, r)] = value
            s["H%d" % r].number_format = "dd/mm/yyyy hh:mm"
        r += 1
    s.merge_cells("A5:A6")  # INV-2 covers both of its lines
    path = os.path.join(HERE, "invoices_1900.xlsx")
    wb.save(path)
    fixed_zip_times(path)
    shared_strings(path, "xl/worksheets/sheet2.xml")


def workbook_1904():
    wb = openpyxl.Workbook()
    wb.epoch = CALENDAR_MAC_1904
    s = wb.active
    s.title = "Orders"
    s.append(["Order ID", "Customer", "SKU", "Product Name", "Qty", "Price", "Order Date"])
    data = [
        ("W-10", "Z9", "P-1", "Linen towel", 3, 7.5, dt.date(2023, 1, 15)),
        ("W-10", "Z9", "P-2", "Soap", 10, 1.2, dt.date(2023, 1, 15)),
        ("W-11", "Z8", "P-1", "Linen towel", 1, 7.5, dt.date(2023, 7, 4)),
        ("W-12", "Z9", "P-3", "Candle", 2, 4.0, dt.date(1904, 1, 2)),
    ]
    for row in data:
        s.append(list(row))
        s.cell(row=s.max_row, column=7).number_format = "mm-dd-yy"  # built-in id 14
    path = os.path.join(HERE, "invoices_1904.xlsx")
    wb.save(path)
    fixed_zip_times(path)


if __name__ == "__main__":
    workbook_1900()
    workbook_1904()
