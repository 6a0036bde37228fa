// Plausible field values for the demo, as pure functions of time: diurnal temperature, a rain event every
// `rainCycleMs` that lifts the river past its warning and alarm lines, smoke alarms now and then.

export interface ScenarioOptions {
  startedAt: number;
  rainCycleMs?: number;   // a full dry + rain + recession cycle (default 10 min so a demo shows it)
  seed?: number;
}

const TAU = Math.PI * 2;

/** Deterministic pseudo-noise in [-1, 1] (so simulators on different edges agree and tests can predict). */
export function noise(t: number, salt: number): number {
  const x = Math.sin(t * 0.000123 + salt * 12.9898) * 43758.5453;
  return (x - Math.floor(x)) * 2 - 1;
}

export class Scenario {
  private readonly cycle: number;

  constructor(private readonly o: ScenarioOptions) {
    this.cycle = o.rainCycleMs ?? 600_000;
  }

  private hourOfDay(t: number): number {
    const d = new Date(t);
    return d.getHours() + d.getMinutes() / 60;
  }

  /** 0..1 phase inside the rain cycle; rain falls during [0.1, 0.4). */
  private phase(t: number): number {
    return (((t - this.o.startedAt) % this.cycle) + this.cycle) % this.cycle / this.cycle;
  }

  /** Rain intensity in mm per minute. */
  rainMmPerMin(t: number): number {
    const p = this.phase(t);
    if (p < 0.1 || p >= 0.4) return 0;
    return Math.max(0, 1.6 * Math.sin(((p - 0.1) / 0.3) * Math.PI) + 0.1 * noise(t, 1));
  }

  /**
   * River water level in metres: base 2.8 m; the rain lifts it past the 3.5 m warning line (phase ≈ 0.25) and the
   * 4.2 m alarm line (≈ 0.39) to a 4.4 m crest (0.5); it falls back below the alarm line (≈ 0.53) and the warning
   * line (≈ 0.65) as the flood recedes. (The radar-level-modbus profile's lines, hysteresis 0.05 m.)
   */
  waterLevelM(t: number): number {
    const p = this.phase(t);
    const crest = p < 0.15 ? 0 : p < 0.5 ? Math.sin(((p - 0.15) / 0.35) * (Math.PI / 2)) : Math.exp(-(p - 0.5) * 6);
    return 2.8 + 1.6 * crest + 0.01 * noise(t, 2);
  }

  /** A time at `phase` (0..1) of the rain cycle that begins at `cycleStart` (lets tests walk through a flood). */
  at(phase: number, cycle = 0): number {
    return this.o.startedAt + (cycle + phase) * this.cycle;
  }

  flowLps(t: number): number {
    return 180 + (this.waterLevelM(t) - 2.8) * 420 + 5 * noise(t, 3);
  }

  airTemperatureC(t: number): number {
    return 15 + 8 * Math.sin((TAU * (this.hourOfDay(t) - 9)) / 24) + 0.3 * noise(t, 4);
  }

  humidityPct(t: number): number {
    return Math.min(100, 60 - 15 * Math.sin((TAU * (this.hourOfDay(t) - 9)) / 24) + (this.rainMmPerMin(t) > 0 ? 30 : 0) + 2 * noise(t, 5));
  }

  pm25(t: number, salt = 0): number {
    return Math.max(3, 38 + 22 * Math.sin((TAU * (this.hourOfDay(t) - 20)) / 24) + 6 * noise(t, 6 + salt) - (this.rainMmPerMin(t) > 0 ? 20 : 0));
  }

  /** Hydrant pressure in kPa (~0.35 MPa), with a pressure drop for one minute in every cycle. */
  hydrantKpa(t: number, salt = 0): number {
    const p = this.phase(t + salt * 97_000);
    return (p > 0.7 && p < 0.8 ? 150 : 352) + 4 * noise(t, 7 + salt);
  }

  /** A smoke alarm for ~30 s once per cycle (offset per detector). */
  smoke(t: number, salt = 0): boolean {
    const p = this.phase(t + salt * 211_000);
    return p > 0.62 && p < 0.62 + 30_000 / this.cycle;
  }

  waterQuality(t: number) {
    const rain = this.rainMmPerMin(t);
    return {
      ph: 7.2 + 0.15 * noise(t, 8) - rain * 0.3,
      dissolvedOxygen: 7.5 + 1.2 * Math.sin((TAU * (this.hourOfDay(t) - 14)) / 24) + 0.2 * noise(t, 9),
      turbidity: 12 + rain * 40 + 2 * noise(t, 10),
      conductivity: 0.45 + 0.02 * noise(t, 11), // mS/cm
      temperature: 17 + 3 * Math.sin((TAU * (this.hourOfDay(t) - 15)) / 24),
      cod: 14 + rain * 8 + noise(t, 12),
      nh3n: 0.5 + rain * 0.4 + 0.05 * noise(t, 13),
    };
  }
}
