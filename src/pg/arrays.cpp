// Array arguments in, arrays and rows out (PostgreSQL regime).
//
// Numeric kernels take float8[] / int8[] / numeric[]; these helpers check the
// shape once (one dimension, no NULLs, the element type the function was
// declared with) and hand the core a span over the array's own storage, so a
// 10,000-element series is never copied. Errors are ereport'ed here, before
// any C++ object exists.
#include "pg/pg.hpp"

extern "C" {
#include "utils/numeric.h"
}

namespace salesflow::pg {
namespace {

ArrayType* checked_array(FunctionCallInfo fcinfo, int argno, const char* name, Oid element_type) {
    if (PG_ARGISNULL(argno))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("array \"%s\" must not be null", name)));
    ArrayType* array = PG_GETARG_ARRAYTYPE_P(argno);
    if (ARR_ELEMTYPE(array) != element_type)
        ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                        errmsg("array \"%s\" must be of type %s[], not %s[]", name, format_type_be(element_type),
                               format_type_be(ARR_ELEMTYPE(array)))));
    if (ARR_NDIM(array) > 1)
        ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                        errmsg("array \"%s\" must be one-dimensional, not %d-dimensional", name, ARR_NDIM(array))));
    if (array_contains_nulls(array))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("array \"%s\" must not contain nulls", name),
                        errhint("Replace missing values with 0 or remove them, e.g. with array_remove().")));
    return array;
}

std::size_t element_count(ArrayType* array) {
    return ARR_NDIM(array) == 0 ? 0 : static_cast<std::size_t>(ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array)));
}

}  // namespace

salesflow::span<double> float8_array_arg(FunctionCallInfo fcinfo, int argno, const char* name) {
    ArrayType* array = checked_array(fcinfo, argno, name, FLOAT8OID);
    return {reinterpret_cast<const double*>(ARR_DATA_PTR(array)), element_count(array)};
}

salesflow::span<std::int64_t> int8_array_arg(FunctionCallInfo fcinfo, int argno, const char* name) {
    ArrayType* array = checked_array(fcinfo, argno, name, INT8OID);
    return {reinterpret_cast<const std::int64_t*>(ARR_DATA_PTR(array)), element_count(array)};
}

salesflow::span<std::int32_t> date_array_arg(FunctionCallInfo fcinfo, int argno, const char* name) {
    ArrayType* array = checked_array(fcinfo, argno, name, DATEOID);
    return {reinterpret_cast<const std::int32_t*>(ARR_DATA_PTR(array)), element_count(array)};
}

salesflow::span<double> numeric_array_arg(FunctionCallInfo fcinfo, int argno, const char* name) {
    ArrayType* array = checked_array(fcinfo, argno, name, NUMERICOID);
    Datum* elements;
    int n;
    deconstruct_array(array, NUMERICOID, -1, false, TYPALIGN_INT, &elements, nullptr, &n);
    double* values = static_cast<double*>(palloc(sizeof(double) * (n > 0 ? n : 1)));
    for (int i = 0; i < n; ++i) {
        Numeric value = DatumGetNumeric(elements[i]);
        if (numeric_is_nan(value) || numeric_is_inf(value))
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("array \"%s\" must contain finite numbers (element %d is not)", name, i + 1)));
        values[i] = DatumGetFloat8(DirectFunctionCall1(numeric_float8, elements[i]));
    }
    return {values, static_cast<std::size_t>(n)};
}

Datum float8_array_datum(const double* values, std::size_t n) {
    Datum* elements = static_cast<Datum*>(palloc(sizeof(Datum) * (n > 0 ? n : 1)));
    for (std::size_t i = 0; i < n; ++i) elements[i] = Float8GetDatum(values[i]);
    ArrayType* array = construct_array(elements, static_cast<int>(n), FLOAT8OID, sizeof(double), FLOAT8PASSBYVAL,
                                       TYPALIGN_DOUBLE);
    pfree(elements);
    return PointerGetDatum(array);
}

TupleDesc result_tupdesc(FunctionCallInfo fcinfo) {
    TupleDesc desc;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("function returning a row called in a context that cannot accept one")));
    return BlessTupleDesc(desc);
}

srf_writer begin_srf(FunctionCallInfo fcinfo) {
    InitMaterializedSRF(fcinfo, 0);
    return srf_writer{reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo)};
}

std::string text_arg(FunctionCallInfo fcinfo, int argno) {
    text* t = PG_GETARG_TEXT_PP(argno);
    return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

}  // namespace salesflow::pg
