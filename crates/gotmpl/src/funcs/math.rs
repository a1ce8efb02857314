//! Sprig's integer and float arithmetic.
#![expect(
    clippy::many_single_char_names,
    reason = "short names mirror the Go originals"
)]

use crate::funcs::conv::{to_f64, to_i64, want_int};
use crate::funcs::{FResult, FuncError, Registry, at, ex};
use crate::value::Value;

pub(crate) fn register(r: &mut Registry) {
    r.add("add1", ex(1), |_, a| {
        Ok(Value::Int64(to_i64(&a[0]).wrapping_add(1)))
    });
    r.add("add", at(0), |_, a| {
        Ok(Value::Int64(
            a.iter().map(to_i64).fold(0i64, i64::wrapping_add),
        ))
    });
    r.add("sub", ex(2), |_, a| {
        Ok(Value::Int64(to_i64(&a[0]).wrapping_sub(to_i64(&a[1]))))
    });
    r.add("div", ex(2), |_, a| {
        let d = to_i64(&a[1]);
        if d == 0 {
            return Err(FuncError::Call(
                "runtime error: integer divide by zero".into(),
            ));
        }
        Ok(Value::Int64(to_i64(&a[0]).wrapping_div(d)))
    });
    r.add("mod", ex(2), |_, a| {
        let d = to_i64(&a[1]);
        if d == 0 {
            return Err(FuncError::Call(
                "runtime error: integer divide by zero".into(),
            ));
        }
        Ok(Value::Int64(to_i64(&a[0]).wrapping_rem(d)))
    });
    r.add("mul", at(1), |_, a| {
        Ok(Value::Int64(
            a.iter().map(to_i64).fold(1i64, i64::wrapping_mul),
        ))
    });
    r.add("max", at(1), |_, a| {
        Ok(Value::Int64(a.iter().map(to_i64).max().unwrap_or(0)))
    });
    r.add("biggest", at(1), |_, a| {
        Ok(Value::Int64(a.iter().map(to_i64).max().unwrap_or(0)))
    });
    r.add("min", at(1), |_, a| {
        Ok(Value::Int64(a.iter().map(to_i64).min().unwrap_or(0)))
    });
    r.add("maxf", at(1), |_, a| {
        Ok(Value::Float(
            a.iter().map(to_f64).fold(f64::NEG_INFINITY, f64::max),
        ))
    });
    r.add("minf", at(1), |_, a| {
        Ok(Value::Float(
            a.iter().map(to_f64).fold(f64::INFINITY, f64::min),
        ))
    });
    r.add("float64", ex(1), |_, a| Ok(Value::Float(to_f64(&a[0]))));
    r.add("floor", ex(1), |_, a| {
        Ok(Value::Float(to_f64(&a[0]).floor()))
    });
    r.add("ceil", ex(1), |_, a| Ok(Value::Float(to_f64(&a[0]).ceil())));
    r.add("round", at(2), |_, a| {
        let on = a.get(2).map_or(0.5, to_f64);
        let val = to_f64(&a[0]);
        #[expect(clippy::cast_precision_loss, reason = "small place counts")]
        let pow = 10f64.powf(want_int(&a, 1)? as f64);
        let digit = pow * val;
        let frac = digit.fract();
        let r = if frac >= on {
            digit.ceil()
        } else {
            digit.floor()
        };
        Ok(Value::Float(r / pow))
    });
    r.add("add1f", ex(1), |_, a| {
        dec_op(&[a[0].clone(), Value::Int(1)], Op::Add)
    });
    r.add("addf", at(0), |_, a| {
        let mut v = vec![Value::Float(0.0)];
        v.extend(a);
        dec_op(&v, Op::Add)
    });
    r.add("subf", at(1), |_, a| dec_op(&a, Op::Sub));
    r.add("mulf", at(1), |_, a| dec_op(&a, Op::Mul));
    r.add("divf", at(1), |_, a| dec_op(&a, Op::Div));
    r.add("randInt", ex(2), |c, a| {
        let (lo, hi) = (to_i64(&a[0]), to_i64(&a[1]));
        if hi <= lo {
            return Err(FuncError::Call("invalid argument to Intn".into()));
        }
        let span = usize::try_from(hi - lo).unwrap_or(usize::MAX);
        let n = c.shared.rng.borrow_mut().below(span);
        Ok(Value::Int(lo + i64::try_from(n).unwrap_or(0)))
    });
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// An exact decimal: `mant * 10^-scale`, as shopspring/decimal keeps numbers.
#[derive(Clone, Copy)]
struct Dec {
    mant: i128,
    scale: u32,
}

impl Dec {
    fn from_f64(f: f64) -> Option<Dec> {
        if !f.is_finite() {
            return None;
        }
        let s = format!("{f}");
        let (neg, body) = s
            .strip_prefix('-')
            .map_or((false, s.as_str()), |b| (true, b));
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let digits = format!("{int}{frac}");
        let mant: i128 = digits.parse().ok()?;
        Some(Dec {
            mant: if neg { -mant } else { mant },
            scale: u32::try_from(frac.len()).ok()?,
        })
    }

    fn rescale(self, scale: u32) -> Option<Dec> {
        let k = 10i128.checked_pow(scale - self.scale)?;
        Some(Dec {
            mant: self.mant.checked_mul(k)?,
            scale,
        })
    }

    fn to_f64(self) -> f64 {
        let s = self.mant.unsigned_abs().to_string();
        let scale = self.scale as usize;
        let padded = if s.len() <= scale {
            format!("{}{s}", "0".repeat(scale - s.len() + 1))
        } else {
            s
        };
        let (i, f) = padded.split_at(padded.len() - scale);
        let v: f64 = format!("{i}.{f}0").parse().unwrap_or(0.0);
        if self.mant < 0 { -v } else { v }
    }
}

fn apply(a: Dec, b: Dec, op: Op) -> Option<Dec> {
    match op {
        Op::Add | Op::Sub => {
            let s = a.scale.max(b.scale);
            let (x, y) = (a.rescale(s)?, b.rescale(s)?);
            let mant = match op {
                Op::Add => x.mant.checked_add(y.mant)?,
                _ => x.mant.checked_sub(y.mant)?,
            };
            Some(Dec { mant, scale: s })
        }
        Op::Mul => Some(Dec {
            mant: a.mant.checked_mul(b.mant)?,
            scale: a.scale.checked_add(b.scale).filter(|s| *s < 38)?,
        }),
        Op::Div => {
            if b.mant == 0 {
                return None;
            }
            // 16 fractional digits, rounded half up, as decimal.DivisionPrecision.
            let x = a.rescale(a.scale.max(b.scale))?;
            let y = b.rescale(a.scale.max(b.scale))?;
            let num = x.mant.checked_mul(10i128.pow(17))?;
            let q = num / y.mant;
            let q = if q >= 0 { (q + 5) / 10 } else { (q - 5) / 10 };
            Some(Dec { mant: q, scale: 16 })
        }
    }
}

fn dec_op(a: &[Value], op: Op) -> FResult {
    let mut acc = to_f64(&a[0]);
    let mut dec = Dec::from_f64(acc);
    for v in &a[1..] {
        let f = to_f64(v);
        if matches!(op, Op::Div) && f == 0.0 {
            return Err(FuncError::Call("decimal division by 0".into()));
        }
        dec = dec.zip(Dec::from_f64(f)).and_then(|(x, y)| apply(x, y, op));
        acc = match op {
            Op::Add => acc + f,
            Op::Sub => acc - f,
            Op::Mul => acc * f,
            Op::Div => acc / f,
        };
    }
    Ok(Value::Float(dec.map_or(acc, Dec::to_f64)))
}
