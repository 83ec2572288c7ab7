# PGXS build of the salesflow extension (C++17, Eigen 3, Boost.Math).
#
#   make && make install        build and install into the server found by PG_CONFIG
#   make installcheck           pg_regress tests in sql/ + expected/ (needs a running server)
#
# The install script of the current version, salesflow--<default_version>.sql,
# is generated from src/sql/*.sql in file-name order. The install scripts of
# released versions (salesflow--0.1.0.sql, frozen) and the upgrade scripts
# salesflow--A--B.sql are checked in and installed as they are (README,
# "Releases").

EXTENSION   = salesflow
EXTVERSION  = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" salesflow.control)
MODULE_big  = salesflow

PG_SOURCES   = $(sort $(wildcard src/pg/*.cpp))
# Core modules linked into the extension (each is src/core/<module>/).
CORE_MODULES = common ingest segments forecast orders inventory anomaly dashboards
CORE_SOURCES = $(sort $(foreach m,$(CORE_MODULES),$(wildcard src/core/$(m)/*.cpp)))
OBJS         = $(PG_SOURCES:.cpp=.o) $(CORE_SOURCES:.cpp=.o)
SQL_PARTS    = $(sort $(wildcard src/sql/*.sql))
DATA_built   = $(EXTENSION)--$(EXTVERSION).sql
DATA         = $(filter-out $(DATA_built), $(wildcard $(EXTENSION)--*.sql))

REGRESS      = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --load-extension=plpgsql --load-extension=pg_trgm

EIGEN_INC   ?= /usr/include/eigen3
# -Wall -Wextra is clean, except two classes switched off on purpose:
#  -Wno-unused-parameter: entry points and callbacks have fixed signatures
#   (PG_FUNCTION_ARGS, function-pointer kernels) and do not use every argument;
#  -Wno-register: PostgreSQL 15's headers use `register`, removed in C++17.
PG_CXXFLAGS  = -std=c++17 -fPIC -O2 -Wall -Wextra -Wno-unused-parameter -Wno-register \
               -isystem $(EIGEN_INC) -Isrc
# Excel: minizip + expat read workbooks, libxlsxwriter writes them (Debian packages).
SHLIB_LINK  += -lstdc++ -lm $(shell pkg-config --libs minizip expat xlsxwriter)

# Debian's server is built with LLVM JIT; bitcode for C++ would need clang with
# our flags. The numeric kernels gain nothing from JIT inlining, so skip it: a
# machine without clang builds and installs.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)


$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS)
	@echo "-- generated from src/sql/*.sql by the Makefile; edit those files, not this one" > $@
	@printf '%s\n' '\echo Use "CREATE EXTENSION salesflow" to load this file. \quit' >> $@
	cat $(SQL_PARTS) >> $@

# Headers are not tracked by PGXS: rebuild everything when any header changes.
$(OBJS): $(shell find src -name '*.hpp' -o -name '*.h')
