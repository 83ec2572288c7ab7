#!/usr/bin/perl
# Lists what an upgrade script still lacks, object by object: given the
# normalised schema of a fresh install and of an updated database (the output
# files of test/upgrade/normalise-schema.pl, as scripts/upgrade-check writes
# them), prints each object that the updated database lacks or has in another
# form (with its definition in the fresh install: pg_dump's SQL, table columns
# sorted) and each object that only the updated database has (to drop).
# A starting point for the upgrade script, not a script to run as it is.
#   perl test/upgrade/schema-delta.pl FRESH UPDATED
use strict;
use warnings;

sub objects {    # file -> { header => definition }, plus the lines before the first object
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    local $/;
    my $text = <$fh>;
    my @pieces = split /^(-- Name: [^\n]*)\n/m, $text;
    my %lists = map { $_ => 1 } grep { length } split /\n/, shift @pieces;
    my %objects;
    while (my ($header, $body) = splice @pieces, 0, 2) {
        $body =~ s/\s+\z//;
        $objects{$header} = $body;
    }
    return (\%objects, \%lists);
}

my ($fresh, $fresh_lists) = objects($ARGV[0]);
my ($updated, $updated_lists) = objects($ARGV[1]);
for my $line (sort keys %$fresh_lists) {
    print "-- the updated database lacks: $line\n" unless $updated_lists->{$line} || $line =~ /^-- /;
}
for my $line (sort keys %$updated_lists) {
    print "-- only the updated database has: $line\n" unless $fresh_lists->{$line} || $line =~ /^-- /;
}
for my $header (sort keys %$fresh) {
    next if defined $updated->{$header} && $updated->{$header} eq $fresh->{$header};
    my $what = defined $updated->{$header} ? 'differs' : 'missing';
    print "\n-- $what in the updated database; a fresh install has:\n$header\n$fresh->{$header}\n";
}
for my $header (sort grep { !defined $fresh->{$_} } keys %$updated) {
    print "\n-- only in the updated database (drop it):\n$header\n$updated->{$header}\n";
}
