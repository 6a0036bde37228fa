// Image-quality thresholds. Values are on 8-bit samples (0–255, limited range: black ≈ 16, white ≈ 235)
// as ffmpeg's signalstats reports them, measured on the analysis copy (scaled to at most ANALYSIS_WIDTH).
// Calibrated on GStreamer test patterns served over RTSP (see demo/simulators/rtsp_server.py) and documented in
// protocols/onvif/README.md. A check is WARN at `warn`, FAULT at `fault`.

/** Width of the analysis copy: bounds filter CPU on HD streams; blur scores are relative to it. */
export const ANALYSIS_WIDTH = 640;

export const THRESHOLDS = {
  /** blackdetect: a pixel is black below this fraction of the luma range ... */
  blackPixel: 0.1,
  /** ... and a picture is black when this fraction of its pixels is. */
  blackPicture: 0.98,
  /** Share of the sample that must be black: WARN / FAULT. */
  black: { warn: 0.3, fault: 0.8 },
  /** freezedetect noise tolerance (dB) — lossy encoding of a still picture stays below -40 dB. */
  freezeNoiseDb: -40,
  /** Shortest still span freezedetect reports (s); kept below the shortest sample. */
  freezeMinS: 1,
  /** Share of the sample that is frozen: WARN / FAULT. */
  frozen: { warn: 0.4, fault: 0.7 },
  /** blurdetect mean (≈ edge width in px at ANALYSIS_WIDTH): sharp test bars ≈ 3–6, sigma=8 blur ≈ 28. */
  blur: { warn: 10, fault: 15 },
  /** Mean luma YAVG below which the picture is too dark (bars ≈ 121, dark mount ≈ 26, black = 16). */
  tooDark: { warn: 50, fault: 35 },
  /** Mean luma YAVG above which the picture is too bright / washed out (bright mount ≈ 230). */
  tooBright: { warn: 200, fault: 215 },
  /**
   * Colour cast factor K = D / S: D = distance of the mean chroma (UAVG, VAVG) from neutral 128, S = mean
   * saturation SATAVG. A cast shifts every pixel the same way (K → 1); colourful scenes spread (bars ≈ 0.13).
   */
  colorCast: { warn: 0.45, fault: 0.6 },
  /** Minimum D for a cast verdict: near-grey pictures have tiny D and S, and K would be noise. */
  colorCastMinShift: 6,
  /**
   * Noise (snow, interference): median frame-to-frame luma difference YDIF. Moving bars ≈ 10, snow ≈ 40.
   * Strong whole-frame motion (a fast pan) also raises YDIF: a single WARN is not conclusive.
   */
  noise: { warn: 22, fault: 30 },
  /**
   * Occlusion: share of the picture's grid cells (8×8) that are dark and flat (no edges) while the picture as
   * a whole is not black or too dark — a lens covered by a hand, a bag or a nearby wall.
   */
  occlusion: { warn: 0.35, fault: 0.5 },
  occlusionCellDarkY: 40,   // cell mean luma below this is dark (16 = black)
  occlusionCellFlatEdge: 4, // cell mean edge density (edgedetect output, 0–255) below this is flat
  /** Fewer decoded frames per second than this share of the nominal rate during the sample: no_frames. */
  minFrameShare: 0.2,
} as const;
