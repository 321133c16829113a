/** Types of the one module of compressjs tsnix uses (the package ships none). */
declare module "compressjs/lib/Bzip2.js" {
  /** bzip2 streams, compatible with bzip2(1). */
  const Bzip2: {
    /** Compresses `input` (block size 1..9 × 100k). */
    compressFile(input: Uint8Array, output: null, blockSize: number): ArrayLike<number>
    /** Decompresses a whole .bz2 file (concatenated streams included). */
    decompressFile(input: Uint8Array): ArrayLike<number>
  }
  export default Bzip2
}
