;; Matrix products for the static site's Python (Pyodide), in WebAssembly SIMD: Pyodide's NumPy has no BLAS and no SIMD,
;; so its products run a scalar loop (about 7 GFLOP/s here at best); these run four lanes at a time (about 20).
;; gpt2_core/kernels.py (WasmSimdKernel) loads the built module with ctypes, as an Emscripten side module that
;; shares Pyodide's memory, and passes NumPy arrays by address. build.py assembles it (kernels/build.mjs).
;;
;; Layout: row-major float32; B is [n, k] (a weight stored [out, in], or the keys), so every product is rows of A
;; against rows of B, both read contiguously.
(module
  (import "env" "memory" (memory 0))

  ;; float16 -> float32, four lanes: the half's bits sign-extended to 32 bits and moved up 13 places put its
  ;; exponent and mantissa where float32 keeps them (the sign copies above the exponent are cleared, the sign
  ;; stays in bit 31); multiplying by 2^112 (127 - 15, the difference of the exponent biases) then gives the
  ;; value, subnormals included. (Infinities and NaN are not weights: the loader refuses them.)
  (func $widen (param $halves v128) (result v128)
    (f32x4.mul
      (v128.and (i32x4.shl (local.get $halves) (i32.const 13)) (i32x4.splat (i32.const 0x8fffffff)))
      (f32x4.splat (f32.const 0x1p112))))

  (func $half4 (param $p i32) (result v128)
    (call $widen (v128.load16x4_s (local.get $p))))

  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; dst[0:n] = float32(src[0:n]); n a multiple of 8
  (func $half_to_float (export "te_half_to_float") (param $src i32) (param $dst i32) (param $n i32)
    (local $end i32) (local $h v128) (local $mask v128) (local $scale v128)
    (local.set $mask (i32x4.splat (i32.const 0x8fffffff)))
    (local.set $scale (f32x4.splat (f32.const 0x1p112)))
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
      (local.set $h (v128.load (local.get $src)))
      (v128.store (local.get $dst) (f32x4.mul (v128.and (i32x4.shl (i32x4.extend_low_i16x8_s (local.get $h)) (i32.const 13)) (local.get $mask)) (local.get $scale)))
      (v128.store offset=16 (local.get $dst) (f32x4.mul (v128.and (i32x4.shl (i32x4.extend_high_i16x8_s (local.get $h)) (i32.const 13)) (local.get $mask)) (local.get $scale)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
      (br $next))))

  ;; C[i, j] = sum_k A[i, k] * B[j, k] for i < m, j < n: A float32 [m, k], B float32 [n, k], C float32 with
  ;; rows ldc floats apart; k a multiple of 4. Four rows of A against two of B at a time.
  (func $dot (export "te_dot") (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $n i32)
                          (param $k i32) (param $ldc i32)
    (local $i i32) (local $j i32) (local $kk i32) (local $kb i32) (local $ldcb i32)
    (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $b0 i32) (local $b1 i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128) (local $y0 v128) (local $y1 v128)
    (local $s00 v128) (local $s01 v128) (local $s10 v128) (local $s11 v128)
    (local $s20 v128) (local $s21 v128) (local $s30 v128) (local $s31 v128)
    (local $crow i32)
    (local.set $kb (i32.shl (local.get $k) (i32.const 2)))
    (local.set $ldcb (i32.shl (local.get $ldc) (i32.const 2)))
    ;; rows in fours
    (local.set $i (i32.const 0))
    (block $rows_done (loop $rows
      (br_if $rows_done (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $m)))
      (local.set $a0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $kb))))
      (local.set $a1 (i32.add (local.get $a0) (local.get $kb)))
      (local.set $a2 (i32.add (local.get $a1) (local.get $kb)))
      (local.set $a3 (i32.add (local.get $a2) (local.get $kb)))
      (local.set $crow (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldcb))))
      (local.set $j (i32.const 0))
      (block $cols_done (loop $cols
        (br_if $cols_done (i32.gt_s (i32.add (local.get $j) (i32.const 2)) (local.get $n)))
        (local.set $b0 (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $kb))))
        (local.set $b1 (i32.add (local.get $b0) (local.get $kb)))
        (local.set $s00 (v128.const i32x4 0 0 0 0)) (local.set $s01 (v128.const i32x4 0 0 0 0))
        (local.set $s10 (v128.const i32x4 0 0 0 0)) (local.set $s11 (v128.const i32x4 0 0 0 0))
        (local.set $s20 (v128.const i32x4 0 0 0 0)) (local.set $s21 (v128.const i32x4 0 0 0 0))
        (local.set $s30 (v128.const i32x4 0 0 0 0)) (local.set $s31 (v128.const i32x4 0 0 0 0))
        (local.set $kk (i32.const 0))
        (block $k_done (loop $ks
          (br_if $k_done (i32.ge_u (local.get $kk) (local.get $kb)))
          (local.set $y0 (v128.load (i32.add (local.get $b0) (local.get $kk))))
          (local.set $y1 (v128.load (i32.add (local.get $b1) (local.get $kk))))
          (local.set $x0 (v128.load (i32.add (local.get $a0) (local.get $kk))))
          (local.set $s00 (f32x4.add (local.get $s00) (f32x4.mul (local.get $x0) (local.get $y0))))
          (local.set $s01 (f32x4.add (local.get $s01) (f32x4.mul (local.get $x0) (local.get $y1))))
          (local.set $x1 (v128.load (i32.add (local.get $a1) (local.get $kk))))
          (local.set $s10 (f32x4.add (local.get $s10) (f32x4.mul (local.get $x1) (local.get $y0))))
          (local.set $s11 (f32x4.add (local.get $s11) (f32x4.mul (local.get $x1) (local.get $y1))))
          (local.set $x2 (v128.load (i32.add (local.get $a2) (local.get $kk))))
          (local.set $s20 (f32x4.add (local.get $s20) (f32x4.mul (local.get $x2) (local.get $y0))))
          (local.set $s21 (f32x4.add (local.get $s21) (f32x4.mul (local.get $x2) (local.get $y1))))
          (local.set $x3 (v128.load (i32.add (local.get $a3) (local.get $kk))))
          (local.set $s30 (f32x4.add (local.get $s30) (f32x4.mul (local.get $x3) (local.get $y0))))
          (local.set $s31 (f32x4.add (local.get $s31) (f32x4.mul (local.get $x3) (local.get $y1))))
          (local.set $kk (i32.add (local.get $kk) (i32.const 16)))
          (br $ks)))
        (f32.store (i32.add (local.get $crow) (i32.shl (local.get $j) (i32.const 2))) (call $hsum (local.get $s00)))
        (f32.store offset=4 (i32.add (local.get $crow) (i32.shl (local.get $j) (i32.const 2))) (call $hsum (local.get $s01)))
        (f32.store (i32.add (i32.add (local.get $crow) (local.get $ldcb)) (i32.shl (local.get $j) (i32.const 2))) (call $hsum (local.get $s10)))
        (f32.store offset=4 (i32.add (i32.add (local.get $crow) (local.get $ldcb)) (i32.shl (local.get $j) (i32.const 2))) (call $hsum (local.get $s11)))
        (f32.store (i32.add (i32.add (local.get $crow) (i32.shl (local.get $ldcb) (i32.const 1))) (i32.shl (local.get $j) (i32.const 2))) (call $hsum (local.get $s20)))
        (f32.store offset=4 (i32.add (i32.add (local.get $crow) (i32.shl (local.get $ldcb) (i32.const 1))) (i32.shl (local.get $j) (i32.const 2))) (call $hsum (local.get $s21)))
        (f32.store (i32.add (i32.add (local.get $crow) (i32.mul (local.get $ldcb) (i32.const 3))) (i32.shl (local.get $j) (i32.const 2))) (call $hsum (local.get $s30)))
        (f32.store offset=4 (i32.add (i32.add (local.get $crow) (i32.mul (local.get $ldcb) (i32.const 3))) (i32.shl (local.get $j) (i32.const 2))) (call $hsum (local.get $s31)))
        (local.set $j (i32.add (local.get $j) (i32.const 2)))
        (br $cols)))
      ;; an odd last column: one at a time
      (if (i32.lt_s (local.get $j) (local.get $n))
        (then (call $dot_one_by_one (local.get $a0) (local.get $b) (local.get $crow) (i32.const 4) (local.get $j) (local.get $n) (local.get $k) (local.get $ldc))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $rows)))
    ;; the last rows (fewer than four): each row against four of B at a time
    (block $tail_done (loop $tail
      (br_if $tail_done (i32.ge_s (local.get $i) (local.get $m)))
      (call $dot_row (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $kb))) (local.get $b)
            (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldcb))) (local.get $n) (local.get $k) (i32.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $tail))))

  ;; rows [0, rows) of A (from $a) against columns [j, n) of B, one dot product each
  (func $dot_one_by_one (param $a i32) (param $b i32) (param $c i32) (param $rows i32) (param $j i32) (param $n i32)
                        (param $k i32) (param $ldc i32)
    (local $r i32) (local $jj i32) (local $kk i32) (local $kb i32) (local $s v128) (local $pa i32) (local $pb i32)
    (local.set $kb (i32.shl (local.get $k) (i32.const 2)))
    (local.set $r (i32.const 0))
    (block $done (loop $rows
      (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
      (local.set $jj (local.get $j))
      (block $cd (loop $cols
        (br_if $cd (i32.ge_s (local.get $jj) (local.get $n)))
        (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $r) (local.get $kb))))
        (local.set $pb (i32.add (local.get $b) (i32.mul (local.get $jj) (local.get $kb))))
        (local.set $s (v128.const i32x4 0 0 0 0))
        (local.set $kk (i32.const 0))
        (block $kd (loop $ks
          (br_if $kd (i32.ge_u (local.get $kk) (local.get $kb)))
          (local.set $s (f32x4.add (local.get $s) (f32x4.mul (v128.load (i32.add (local.get $pa) (local.get $kk)))
                                                              (v128.load (i32.add (local.get $pb) (local.get $kk))))))
          (local.set $kk (i32.add (local.get $kk) (i32.const 16)))
          (br $ks)))
        (f32.store (i32.add (local.get $c) (i32.add (i32.shl (i32.mul (local.get $r) (local.get $ldc)) (i32.const 2))
                                                     (i32.shl (local.get $jj) (i32.const 2))))
                   (call $hsum (local.get $s)))
        (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
        (br $cols)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rows))))

  ;; one row of A against B (float32, or float16 when $half): four columns at a time
  (func $dot_row (param $a i32) (param $b i32) (param $c i32) (param $n i32) (param $k i32) (param $half i32)
    (local $j i32) (local $kk i32) (local $kb i32) (local $bb i32) (local $x v128) (local $x2 v128) (local $h v128)
    (local $mask v128) (local $scale v128)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $kb (i32.shl (local.get $k) (i32.const 2)))
    (local.set $bb (i32.shl (local.get $k) (i32.sub (i32.const 2) (local.get $half)))) ;; bytes per row of B
    (local.set $mask (i32x4.splat (i32.const 0x8fffffff)))
    (local.set $scale (f32x4.splat (f32.const 0x1p112)))
    (local.set $j (i32.const 0))
    (block $done (loop $cols
      (br_if $done (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $n)))
      (local.set $p0 (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $bb))))
      (local.set $p1 (i32.add (local.get $p0) (local.get $bb)))
      (local.set $p2 (i32.add (local.get $p1) (local.get $bb)))
      (local.set $p3 (i32.add (local.get $p2) (local.get $bb)))
      (local.set $s0 (v128.const i32x4 0 0 0 0)) (local.set $s1 (v128.const i32x4 0 0 0 0))
      (local.set $s2 (v128.const i32x4 0 0 0 0)) (local.set $s3 (v128.const i32x4 0 0 0 0))
      (local.set $kk (i32.const 0))
      (if (local.get $half)
        (then
          (block $kd (loop $ks
            (br_if $kd (i32.ge_u (local.get $kk) (local.get $kb)))
            (local.set $x (v128.load (i32.add (local.get $a) (local.get $kk))))
            (local.set $x2 (v128.load offset=16 (i32.add (local.get $a) (local.get $kk))))
            (local.set $h (v128.load (i32.add (local.get $p0) (i32.shr_u (local.get $kk) (i32.const 1)))))
            (local.set $s0 (f32x4.add (local.get $s0) (f32x4.add
              (f32x4.mul (local.get $x) (f32x4.mul (v128.and (i32x4.shl (i32x4.extend_low_i16x8_s (local.get $h)) (i32.const 13)) (local.get $mask)) (local.get $scale)))
              (f32x4.mul (local.get $x2) (f32x4.mul (v128.and (i32x4.shl (i32x4.extend_high_i16x8_s (local.get $h)) (i32.const 13)) (local.get $mask)) (local.get $scale))))))
            (local.set $h (v128.load (i32.add (local.get $p1) (i32.shr_u (local.get $kk) (i32.const 1)))))
            (local.set $s1 (f32x4.add (local.get $s1) (f32x4.add
              (f32x4.mul (local.get $x) (f32x4.mul (v128.and (i32x4.shl (i32x4.extend_low_i16x8_s (local.get $h)) (i32.const 13)) (local.get $mask)) (local.get $scale)))
              (f32x4.mul (local.get $x2) (f32x4.mul (v128.and (i32x4.shl (i32x4.extend_high_i16x8_s (local.get $h)) (i32.const 13)) (local.get $mask)) (local.get $scale))))))
            (local.set $h (v128.load (i32.add (local.get $p2) (i32.shr_u (local.get $kk) (i32.const 1)))))
            (local.set $s2 (f32x4.add (local.get $s2) (f32x4.add
              (f32x4.mul (local.get $x) (f32x4.mul (v128.and (i32x4.shl (i32x4.extend_low_i16x8_s (local.get $h)) (i32.const 13)) (local.get $mask)) (local.get $scale)))
              (f32x4.mul (local.get $x2) (f32x4.mul (v128.and (i32x4.shl (i32x4.extend_high_i16x8_s (local.get $h)) (i32.const 13)) (local.get $mask)) (local.get $scale))))))
            (local.set $h (v128.load (i32.add (local.get $p3) (i32.shr_u (local.get $kk) (i32.const 1)))))
            (local.set $s3 (f32x4.add (local.get $s3) (f32x4.add
              (f32x4.mul (local.get $x) (f32x4.mul (v128.and (i32x4.shl (i32x4.extend_low_i16x8_s (local.get $h)) (i32.const 13)) (local.get $mask)) (local.get $scale)))
              (f32x4.mul (local.get $x2) (f32x4.mul (v128.and (i32x4.shl (i32x4.extend_high_i16x8_s (local.get $h)) (i32.const 13)) (local.get $mask)) (local.get $scale))))))
            (local.set $kk (i32.add (local.get $kk) (i32.const 32)))
            (br $ks))))
        (else
          (block $kd (loop $ks
            (br_if $kd (i32.ge_u (local.get $kk) (local.get $kb)))
            (local.set $x (v128.load (i32.add (local.get $a) (local.get $kk))))
            (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $p0) (local.get $kk))))))
            (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $p1) (local.get $kk))))))
            (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $p2) (local.get $kk))))))
            (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $p3) (local.get $kk))))))
            (local.set $kk (i32.add (local.get $kk) (i32.const 16)))
            (br $ks)))))
      (f32.store (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))) (call $hsum (local.get $s0)))
      (f32.store offset=4 (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))) (call $hsum (local.get $s1)))
      (f32.store offset=8 (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))) (call $hsum (local.get $s2)))
      (f32.store offset=12 (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))) (call $hsum (local.get $s3)))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $cols)))
    ;; fewer than four columns left
    (block $done1 (loop $cols1
      (br_if $done1 (i32.ge_s (local.get $j) (local.get $n)))
      (local.set $p0 (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $bb))))
      (local.set $s0 (v128.const i32x4 0 0 0 0))
      (local.set $kk (i32.const 0))
      (block $kd1 (loop $ks1
        (br_if $kd1 (i32.ge_u (local.get $kk) (local.get $kb)))
        (local.set $s0 (f32x4.add (local.get $s0)
          (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $kk)))
            (if (result v128) (local.get $half)
              (then (call $half4 (i32.add (local.get $p0) (i32.shr_u (local.get $kk) (i32.const 1)))))
              (else (v128.load (i32.add (local.get $p0) (local.get $kk))))))))
        (local.set $kk (i32.add (local.get $kk) (i32.const 16)))
        (br $ks1)))
      (f32.store (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))) (call $hsum (local.get $s0)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $cols1))))

  ;; C[i, j] = sum_k A[i, k] * B[j, k] with B stored float16 [n, k]; k a multiple of 8. A few rows (a decoding
  ;; step): each row against B, widened as it is read (B is read once per row, at half the bytes). More rows (a
  ;; prompt): $chunk rows of B at a time widened into $scratch (float32 [chunk, k]), then every row against them.
  (func (export "te_dot_half") (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $n i32)
                               (param $k i32) (param $ldc i32) (param $scratch i32) (param $chunk i32)
    (local $i i32) (local $j i32) (local $rows i32)
    (if (i32.lt_s (local.get $m) (i32.const 8))
      (then
        (local.set $i (i32.const 0))
        (block $done (loop $each_row
          (br_if $done (i32.ge_s (local.get $i) (local.get $m)))
          (call $dot_row (i32.add (local.get $a) (i32.shl (i32.mul (local.get $i) (local.get $k)) (i32.const 2)))
                (local.get $b) (i32.add (local.get $c) (i32.shl (i32.mul (local.get $i) (local.get $ldc)) (i32.const 2)))
                (local.get $n) (local.get $k) (i32.const 1))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $each_row))))
      (else
        (local.set $j (i32.const 0))
        (block $done (loop $each_chunk
          (br_if $done (i32.ge_s (local.get $j) (local.get $n)))
          (local.set $rows (select (local.get $chunk) (i32.sub (local.get $n) (local.get $j))
                                   (i32.le_s (i32.add (local.get $j) (local.get $chunk)) (local.get $n))))
          (call $half_to_float (i32.add (local.get $b) (i32.shl (i32.mul (local.get $j) (local.get $k)) (i32.const 1)))
                (local.get $scratch) (i32.mul (local.get $rows) (local.get $k)))
          (call $dot (local.get $a) (local.get $scratch) (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2)))
                (local.get $m) (local.get $rows) (local.get $k) (local.get $ldc))
          (local.set $j (i32.add (local.get $j) (local.get $chunk)))
          (br $each_chunk))))))
)
