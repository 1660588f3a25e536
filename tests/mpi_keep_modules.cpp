// Sanitizer builds only (CNNKIT_SANITIZE): dlclose keeps every module loaded. Open MPI unloads its
// components (mca_*.so) in MPI_Finalize, and LeakSanitizer then reports what they never freed
// from "<unknown module>", which no suppression can name; kept loaded, the reports name the
// component and tests/mpi_lsan.supp suppresses them. The executable exports this dlclose, so it
// takes the place of libc's for every library of the process.
extern "C" int dlclose(void* /*handle*/) {
  return 0;
}
