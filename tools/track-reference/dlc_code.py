# Loads DeepLabCut's own trackingutils.py and stitch.py from a DeepLabCut checkout (a work tree, or
# a git directory read with `git show HEAD:...`), with stand-ins for what Debian's Python lacks:
# filterpy's KalmanFilter (the textbook predict/update with the Joseph form), numba.jit (a no-op),
# and the parts of the deeplabcut package those two files import.
import atexit, importlib.util, os, shutil, subprocess, sys, tempfile, types
import numpy as np


class KalmanFilter:
    def __init__(self, dim_x, dim_z):
        self.dim_x, self.dim_z = dim_x, dim_z
        self.x = np.zeros((dim_x, 1)); self.P = np.eye(dim_x); self.Q = np.eye(dim_x)
        self.F = np.eye(dim_x); self.H = np.zeros((dim_z, dim_x)); self.R = np.eye(dim_z)

    def predict(self):
        self.x = self.F @ self.x
        self.P = self.F @ self.P @ self.F.T + self.Q

    def update(self, z, H=None):
        H = self.H if H is None else H
        z = np.asarray(z, dtype=float).reshape((self.dim_z, 1))
        gain = self.P @ H.T @ np.linalg.inv(H @ self.P @ H.T + self.R)
        self.x = self.x + gain @ (z - H @ self.x)
        keep = np.eye(self.dim_x) - gain @ H
        self.P = keep @ self.P @ keep.T + gain @ self.R @ gain.T


def kinematic_kf(dim, order, dt=1.0, dim_z=1, order_by_dim=True):
    # Only the form DeepLabCut asks for: constant velocity, state [positions..., velocities...].
    assert order == 1 and not order_by_dim
    kf = KalmanFilter(2 * dim, dim)
    kf.F[:dim, dim:] = np.eye(dim) * dt
    kf.H[:, :dim] = np.eye(dim)
    return kf


def _module(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def _source(dlc, path):
    if os.path.isfile(os.path.join(dlc, path)):
        with open(os.path.join(dlc, path)) as f:
            return f.read()
    return subprocess.run(['git', '-C', dlc, 'show', 'HEAD:' + path], check=True, capture_output=True,
                          text=True).stdout


_sources = tempfile.mkdtemp(prefix='dlc-code-')   # kept while running: inspect reads the files
atexit.register(shutil.rmtree, _sources, True)


def _load(name, text):
    path = os.path.join(_sources, name + '.py')
    with open(path, 'w') as f:
        f.write(text)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def load(dlc):
    """Returns (trackingutils, stitch) modules of the DeepLabCut checkout at dlc."""
    _module('filterpy'); _module('filterpy.common', kinematic_kf=kinematic_kf)
    _module('filterpy.kalman', KalmanFilter=KalmanFilter)
    _module('numba', jit=lambda *a, **k: (lambda f: f)); _module('numba.core')
    _module('numba.core.errors', NumbaPerformanceWarning=type('NumbaPerformanceWarning', (Warning,), {}))
    tu = _load('deeplabcut.core.trackingutils', _source(dlc, 'deeplabcut/core/trackingutils.py'))
    _module('deeplabcut'); _module('deeplabcut.core', trackingutils=tu)
    _module('deeplabcut.core.deprecation', renamed_parameter=lambda **k: (lambda f: f))
    _module('deeplabcut.utils', auxfun_multianimal=None, auxiliaryfunctions=None)
    _module('deeplabcut.utils.auxfun_multianimal'); _module('deeplabcut.utils.auxiliaryfunctions')
    _module('deeplabcut.utils.auxfun_videos', VideoWriter=None, collect_video_paths=None)
    st = _load('deeplabcut_stitch', _source(dlc, 'deeplabcut/refine_training_dataset/stitch.py'))
    return tu, st


def correct_index_slips(st):
    """Makes TrackletStitcher drop the residuals it prestitched and place greedy residuals in the track
    it chose, as dlcc does (DeepLabCut 3.0.1 mixes up positions in two lists there)."""
    import inspect, textwrap
    ts = st.TrackletStitcher
    prestitch = ts._prestitch_residuals

    def prestitch_sorted(self, max_gap=5):
        self.residuals = sorted(self.residuals, key=lambda t: t.start)
        return prestitch(self, max_gap)
    ts._prestitch_residuals = prestitch_sorted
    src = textwrap.dedent(inspect.getsource(ts._finalize_tracks))
    fixed = src.replace('ind = sorted(dists, key=lambda x: x[1])[0][0]',
                        'ind = easy_fit[sorted(dists, key=lambda x: x[1])[0][0]]')
    assert fixed != src, 'stitch.py changed: update correct_index_slips'
    ns = dict(st.__dict__)
    exec(fixed, ns)
    ts._finalize_tracks = ns['_finalize_tracks']
