#!/usr/bin/perl
# Normalises a `pg_dump --schema-only` so that two dumps of the same schema
# compare equal whatever order its objects were created in (scripts/upgrade-check):
# the dump is cut into its objects (at pg_dump's "-- Name: ...; Type: ..."
# headers), the column lines of each CREATE TABLE are sorted (an upgrade
# appends new columns at the end; a fresh install puts them where src/sql
# says), and the objects are printed sorted, each under its header.
use strict;
use warnings;

local $/;
my $dump = <STDIN>;
$dump =~ s/^\\(?:un)?restrict .*\n//mg;              # pg_dump >= 15.14: a random key per dump
$dump =~ s/^--\n-- PostgreSQL database dump complete\n--\n//m;
my @pieces = split /^--\n-- (Name: [^\n]*)\n--\n/m, $dump;
shift @pieces;    # the preamble: SET commands, identical for every dump
my @objects;
while (my ($header, $body) = splice @pieces, 0, 2) {
    $header =~ s/; Owner: .*//;    # both databases are owned by the same user anyway
    $body =~ s/\A\s+|\s+\z//g;
    $body =~ s{^(CREATE (?:UNLOGGED )?TABLE [^\n]* \(\n)(.*?)(\n\)[^\n]*)$}{
        my ($open, $columns, $close) = ($1, $2, $3);
        $open . join("\n", sort map { s/,$//r } split /\n/, $columns) . $close
    }gmse;
    push @objects, "-- $header\n$body\n";
}
print join "\n", sort @objects;
