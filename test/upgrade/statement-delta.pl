#!/usr/bin/perl
# Drafts an upgrade script: prints, in their order, the statements of the
# current install script that none of the earlier scripts has (compared with
# whitespace, comments and OR REPLACE ignored), with CREATE FUNCTION /
# PROCEDURE / VIEW / TRIGGER turned into CREATE OR REPLACE; then the first
# lines of the earlier scripts' statements that begin unlike any statement of
# the current one (what may need a DROP). A draft to edit, not a script to run as it is:
# a changed CREATE TABLE must become ALTER TABLE, a view whose columns
# changed must be dropped first (README, "Releases and upgrades").
#   make && perl test/upgrade/statement-delta.pl salesflow--0.1.0.sql salesflow--0.1.0--0.2.0.sql salesflow--0.2.0.sql
use strict;
use warnings;

sub statements {    # the statements of a file, without comments and psql meta-commands
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    local $/;
    my $t = <$fh>;
    my (@out, $cur);
    $cur = '';
    while (length $t) {
        if ($t =~ s/\A--[^\n]*//) { next }
        if ($t =~ s{\A/\*.*?\*/}{}s) { next }
        if ($cur !~ /\S/ && $t =~ s/\A(\s*)\\[^\n]*\n/$1/) { next }
        if ($t =~ s/\A('(?:[^']|'')*')//) { $cur .= $1; next }
        if ($t =~ s/\A(\$([A-Za-z_]*)\$.*?\$\2\$)//s) { $cur .= $1; next }
        if ($t =~ s/\A;//) { $cur =~ s/\A\s+|\s+\z//g; push @out, $cur if length $cur; $cur = ''; next }
        $t =~ s/\A([^'\$;\-\/\\]+|.)//s;
        $cur .= $1;
    }
    return @out;
}
sub key { my $s = shift; $s =~ s/\bOR REPLACE //; $s =~ s/\s+/ /g; return $s }

my $current = pop @ARGV;
my %earlier = map { key($_) => 1 } map { statements($_) } @ARGV;
my @now = statements($current);
my %now_first = map { key((split /\n/, $_)[0]) => 1 } @now;
for my $s (@now) {
    next if $earlier{key($s)};
    $s =~ s/\ACREATE (FUNCTION|PROCEDURE|VIEW|TRIGGER) /CREATE OR REPLACE $1 /;
    print "$s;\n\n";
}
print "-- statements of the earlier scripts that begin unlike any of the current one (drop what they made?):\n";
for my $file (@ARGV) {
    for my $s (statements($file)) {
        next if $now_first{key((split /\n/, $s)[0])};
        print "--   ", (split /\n/, $s)[0], "\n";
    }
}
