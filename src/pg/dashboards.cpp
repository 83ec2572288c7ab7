// Dashboards bindings: a report's rows (the session's temp table sf_report,
// filled by salesflow._report_rows) written as an Excel workbook.
//
// Phase 1 reads the rows with SPI into palloc'd plain cells (PostgreSQL
// regime: no C++ object alive); phase 2 builds the table and writes the
// workbook in the C++ core (src/core/dashboards); phase 3 copies the bytes
// into a bytea.
#include "pg/pg.hpp"

#include <string>

#include "core/dashboards/xlsx_export.hpp"

extern "C" {
#include "executor/spi.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"
}

namespace {

namespace dash = salesflow::dashboards;

struct RawCell {
    dash::CellKind kind;
    double number;
    pg_tm tm;
    double second;
    const char* text;
};

dash::CellKind kind_of(Oid type) {
    switch (type) {
        case INT2OID: case INT4OID: case INT8OID: case FLOAT4OID: case FLOAT8OID: case NUMERICOID: case OIDOID:
            return dash::CellKind::number;
        case DATEOID: return dash::CellKind::date;
        case TIMESTAMPOID: case TIMESTAMPTZOID: return dash::CellKind::datetime;
        case BOOLOID: return dash::CellKind::boolean;
        default: return dash::CellKind::text;
    }
}

// One cell in the PostgreSQL regime; text and out-of-range values as text.
void read_cell(RawCell& cell, Datum d, Oid type, HeapTuple tuple, TupleDesc desc, int attno, MemoryContext outer) {
    cell.kind = kind_of(type);
    auto as_text = [&] {
        cell.kind = dash::CellKind::text;
        cell.text = MemoryContextStrdup(outer, SPI_getvalue(tuple, desc, attno));
    };
    fsec_t fsec = 0;
    switch (type) {
        case INT2OID: cell.number = DatumGetInt16(d); break;
        case INT4OID: cell.number = DatumGetInt32(d); break;
        case INT8OID: cell.number = static_cast<double>(DatumGetInt64(d)); break;
        case FLOAT4OID: cell.number = DatumGetFloat4(d); break;
        case FLOAT8OID: cell.number = DatumGetFloat8(d); break;
        case OIDOID: cell.number = DatumGetObjectId(d); break;
        case NUMERICOID: cell.number = DatumGetFloat8(DirectFunctionCall1(numeric_float8, d)); break;
        case BOOLOID: cell.number = DatumGetBool(d) ? 1 : 0; break;
        case DATEOID:
            if (DATE_NOT_FINITE(DatumGetDateADT(d))) as_text();
            else j2date(DatumGetDateADT(d) + POSTGRES_EPOCH_JDATE, &cell.tm.tm_year, &cell.tm.tm_mon, &cell.tm.tm_mday);
            break;
        case TIMESTAMPOID:
        case TIMESTAMPTZOID: {
            int tz = 0;
            Timestamp ts = DatumGetTimestamp(d);
            if (TIMESTAMP_NOT_FINITE(ts) ||
                timestamp2tm(ts, type == TIMESTAMPTZOID ? &tz : nullptr, &cell.tm, &fsec, nullptr, nullptr) != 0)
                as_text();
            else
                cell.second = cell.tm.tm_sec + fsec / 1e6;
            break;
        }
        default: as_text();
    }
    // Excel's dates run from 1900 to 9999
    if ((cell.kind == dash::CellKind::date || cell.kind == dash::CellKind::datetime) &&
        (cell.tm.tm_year < 1900 || cell.tm.tm_year > 9999))
        as_text();
}

}  // namespace

// salesflow._report_xlsx(sheet text) RETURNS bytea: the rows of the session's
// temp table sf_report as a one-sheet workbook.
SF_FUNCTION(sf_report_xlsx) {
    // Phase 1 (PostgreSQL regime): the rows.
    const char* sheet = PG_ARGISNULL(0) ? "report" : text_to_cstring(PG_GETARG_TEXT_PP(0));
    MemoryContext outer = CurrentMemoryContext;
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
    if (SPI_execute("SELECT * FROM pg_temp.sf_report", true, 0) != SPI_OK_SELECT)
        elog(ERROR, "reading pg_temp.sf_report failed");
    TupleDesc desc = SPI_tuptable->tupdesc;
    const int ncols = desc->natts;
    const uint64 nrows = SPI_processed;
    const char** names = static_cast<const char**>(MemoryContextAllocZero(outer, sizeof(char*) * (ncols + 1)));
    for (int c = 0; c < ncols; ++c) names[c] = MemoryContextStrdup(outer, SPI_fname(desc, c + 1));
    RawCell* raw = static_cast<RawCell*>(MemoryContextAllocHuge(outer, sizeof(RawCell) * Max(nrows * ncols, 1)));
    memset(raw, 0, sizeof(RawCell) * nrows * ncols);
    for (uint64 r = 0; r < nrows; ++r) {
        HeapTuple tuple = SPI_tuptable->vals[r];
        for (int c = 0; c < ncols; ++c) {
            bool isnull = false;
            Datum d = SPI_getbinval(tuple, desc, c + 1, &isnull);
            RawCell& cell = raw[r * ncols + c];
            if (isnull) cell.kind = dash::CellKind::empty;
            else read_cell(cell, d, TupleDescAttr(desc, c)->atttypid, tuple, desc, c + 1, outer);
        }
        if ((r & 0x3fff) == 0) CHECK_FOR_INTERRUPTS();
    }
    SPI_finish();

    // Phase 2 (C++ regime): the workbook.
    bytea* result = nullptr;
    {
        dash::XlsxTable table;
        table.sheet = sheet;
        for (int c = 0; c < ncols; ++c) table.columns.emplace_back(names[c]);
        table.cells.resize(nrows * ncols);
        for (uint64 i = 0; i < nrows * ncols; ++i) {
            const RawCell& in = raw[i];
            dash::XlsxCell& out = table.cells[i];
            out.kind = in.kind;
            out.number = in.number;
            out.year = in.tm.tm_year;
            out.month = in.tm.tm_mon;
            out.day = in.tm.tm_mday;
            out.hour = in.tm.tm_hour;
            out.minute = in.tm.tm_min;
            out.second = in.second;
            if (in.text != nullptr) out.text = in.text;
        }
        // Phase 3: the bytes.
        result = salesflow::pg::bytea_from(dash::write_xlsx(table));
    }
    PG_RETURN_BYTEA_P(result);
}
